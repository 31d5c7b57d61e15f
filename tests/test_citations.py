import pytest

from qabase.content.citations import CitationSyntaxError, parse_citation
from qabase.content.numerals import to_chinese, to_int


@pytest.mark.parametrize("text,n", [("十", 10), ("十一", 11), ("二十", 20), ("一百零五", 105), ("一百一十", 110),
                                    ("二百三十七", 237), ("五百一十七", 517), ("一千零一十", 1010), ("237", 237),
                                    ("两百", 200)])
def test_numerals_both_ways(text, n):
    assert to_int(text) == n
    if text.isdigit() or text.startswith("两"):
        return
    assert to_chinese(n) == text


@pytest.mark.parametrize("bad", ["", "百百", "十十", "abc", "二百三十七条"])
def test_bad_numerals(bad):
    with pytest.raises(ValueError):
        to_int(bad)


def test_roundtrip_all_article_numbers():
    for n in range(1, 1200):
        assert to_int(to_chinese(n)) == n


def test_plain_article():
    c = parse_citation("《中华人民共和国民事诉讼法》第二百三十七条")
    assert (c.name, c.version, c.article, c.sub, c.para, c.item) == ("中华人民共和国民事诉讼法", None, 237, None, None, None)


def test_paragraph_item_and_digits():
    c = parse_citation("《中华人民共和国刑法》第399条第3款")
    assert (c.article, c.para) == (399, 3)
    assert c.canonical() == "《中华人民共和国刑法》第三百九十九条第三款"
    c = parse_citation("《最高人民法院关于公布失信被执行人名单信息的若干规定》第一条第一款第六项")
    assert (c.article, c.para, c.item) == (1, 1, 6)


def test_zhi_yi_article():
    c = parse_citation("《中华人民共和国刑法》第十七条之一")
    assert (c.article, c.sub, c.article_key) == (17, 1, "17-1")
    assert c.canonical().endswith("第十七条之一")


def test_older_version_in_brackets():
    c = parse_citation("《中华人民共和国民事诉讼法》（2021年修正）第二百三十三条")
    assert (c.version, c.article) == ("2021年修正", 233)


def test_inner_title_marks_normalised():
    a = parse_citation("《最高人民法院关于适用〈中华人民共和国民事诉讼法〉的解释》第五百一十七条")
    b = parse_citation("《最高人民法院关于适用《中华人民共和国民事诉讼法》的解释》第五百一十七条")
    assert a.name == b.name == "最高人民法院关于适用〈中华人民共和国民事诉讼法〉的解释"


def test_name_with_brackets_inside_title():
    c = parse_citation("《最高人民法院关于人民法院执行工作若干问题的规定（试行）》第七十四条")
    assert c.name.endswith("（试行）") and c.article == 74


@pytest.mark.parametrize("bad", ["民事诉讼法第二百三十七条", "《中华人民共和国民事诉讼法》", "《民事诉讼法》第条",
                                 "《民事诉讼法》第零条", "《民事诉讼法》第二百三十七", "《民事诉讼法》第abc条"])
def test_rejected(bad):
    with pytest.raises(CitationSyntaxError):
        parse_citation(bad)
