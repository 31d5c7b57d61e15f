"""Analysis: the legal user dictionary, stopwords, synonyms and citations in queries."""


def terms(kbase, text):
    return kbase.segmenter.terms(text)


def test_user_dictionary_keeps_legal_terms_whole(kbase):
    for word in ("终结本次执行程序", "失信被执行人", "拒不执行判决裁定罪", "交叉执行", "提级执行", "执转破", "网络司法拍卖"):
        assert word in terms(kbase, f"关于{word}的问题"), word


def test_without_user_dictionary_terms_split(kbase):
    from qabase.search.segment import Segmenter

    plain = Segmenter([]).terms("交叉执行和执转破")
    assert "执转破" not in plain
    assert "执转破" in terms(kbase, "交叉执行和执转破")


def test_search_mode_adds_parts(kbase):
    t = terms(kbase, "终结本次执行程序")
    assert "终结本次执行程序" in t and "终结" in t


def test_normalisation_fullwidth_and_case(kbase):
    assert terms(kbase, "ＡＢＣ２３７") == terms(kbase, "abc237")


def test_stopwords_dropped_from_queries(kbase):
    plan = kbase.analyzer.analyse("被执行人跑了找不到人怎么办呢")
    words = [t.text for t in plan.terms]
    assert "被执行人" in words
    for stop in ("了", "怎么办", "呢"):
        assert stop not in words


def test_synonym_expansion_both_ways(kbase):
    plan = kbase.analyzer.analyse("终本")
    syn = {t.text: t for t in plan.terms if t.origin != "bigram"}
    # One group with the typed word, scored as one term (search.segment.QueryPlan.groups).
    assert syn["终结本次执行程序"].origin == "synonym" and syn["终结本次执行程序"].group == syn["终本"].group
    assert "终结本次执行程序" in plan.searched_as
    plan = kbase.analyzer.analyse("限制消费")
    assert "限高" in [t.text for t in plan.terms]
    plan = kbase.analyzer.analyse("拒执")
    assert "拒不执行判决裁定罪" in [t.text for t in plan.terms]


def test_citation_in_query_recognised(kbase):
    for q in ("民诉法237条", "民事诉讼法第二百三十七条", "《中华人民共和国民事诉讼法》第二百三十七条", "民诉法 第237条"):
        plan = kbase.analyzer.analyse(q)
        assert plan.citations == ["cpl-2023:237"], q
        assert "《中华人民共和国民事诉讼法》第二百三十七条" in plan.searched_as


def test_pretokenized_analyzer_is_picklable_and_plain():
    import pickle

    from qabase.search.engines.whoosh_analysis import pretokenized

    ana = pickle.loads(pickle.dumps(pretokenized()))
    assert [t.text for t in ana("终结本次执行程序 终结 执行")] == ["终结本次执行程序", "终结", "执行"]
