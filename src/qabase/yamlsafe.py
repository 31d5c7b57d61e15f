"""YAML loading for untrusted files: safe types only, no anchors or aliases, bounded size
and depth, and the line of every top-level key kept for messages."""
from __future__ import annotations

import yaml

MAX_DEPTH = 8


class YAMLProblem(Exception):
    def __init__(self, line: int, message: str):
        self.line = line
        self.message = message
        super().__init__(f"{line}: {message}")


class _Loader(yaml.SafeLoader):
    # Dates stay strings so that entries can report a bad one with its line, not a crash.
    yaml_implicit_resolvers = {
        k: [(tag, rx) for tag, rx in v if tag != "tag:yaml.org,2002:timestamp"]
        for k, v in yaml.SafeLoader.yaml_implicit_resolvers.items()
    }

    # Aliases are how billion-laughs bombs grow; front matter never needs them.
    def compose_node(self, parent, index):
        if self.check_event(yaml.AliasEvent):
            event = self.peek_event()
            raise YAMLProblem(event.start_mark.line + 1, "不支持 YAML 锚点和别名（*name）")
        event = self.peek_event()
        if getattr(event, "anchor", None):
            raise YAMLProblem(event.start_mark.line + 1, "不支持 YAML 锚点（&name）")
        return super().compose_node(parent, index)


try:  # libyaml, when PyYAML was built with it: same results, several times faster
    class _CLoader(yaml.CSafeLoader):
        yaml_implicit_resolvers = _Loader.yaml_implicit_resolvers
except AttributeError:  # pragma: no cover
    _CLoader = None


def _depth(node, level=0):
    if level > MAX_DEPTH:
        raise YAMLProblem(node.start_mark.line + 1, f"嵌套层数超过 {MAX_DEPTH} 层")
    if isinstance(node, yaml.MappingNode):
        for k, v in node.value:
            _depth(k, level + 1)
            _depth(v, level + 1)
    elif isinstance(node, yaml.SequenceNode):
        for v in node.value:
            _depth(v, level + 1)


def load_with_lines(text: str, first_line: int = 1):
    """Parse ``text``; return (data, {top-level key: line}). Lines count from ``first_line``.

    Raises YAMLProblem with an absolute line number on any error.
    """
    offset = first_line - 1
    # Anchors and aliases need the checking loader; text without "&" or "*" has none.
    fast = _CLoader is not None and "&" not in text and "*" not in text
    try:
        loader = (_CLoader if fast else _Loader)(text)
        try:
            node = loader.get_single_node()
            if node is None:
                return None, {}
            _depth(node)
            data = loader.construct_document(node)
        finally:
            loader.dispose()
    except YAMLProblem as e:
        raise YAMLProblem(e.line + offset, e.message) from None
    except yaml.MarkedYAMLError as e:
        line, message = explain(e, text, first_line)
        raise YAMLProblem(line, message) from None
    except yaml.YAMLError as e:
        raise YAMLProblem(first_line, f"YAML 格式错误：{e}") from None
    except (ValueError, TypeError, OverflowError) as e:
        raise YAMLProblem(first_line, f"YAML 内容无法解析：{e}") from None
    except RecursionError:
        raise YAMLProblem(first_line, "YAML 嵌套过深") from None
    lines = {}
    if isinstance(node, yaml.MappingNode):
        for k, _ in node.value:
            if isinstance(k, yaml.ScalarNode):
                lines.setdefault(str(k.value), k.start_mark.line + 1 + offset)
    return data, lines


def _line(text: str, mark) -> str:
    lines = text.splitlines()
    return lines[mark.line] if mark is not None and 0 <= mark.line < len(lines) else ""


def explain(e: yaml.MarkedYAMLError, text: str, first_line: int = 1) -> tuple[int, str]:
    """(line, message) for a parser error in ``text`` whose first line is line ``first_line``
    of its file: in Chinese, what is wrong and how to fix it.

    PyYAML's and LibYAML's messages ("did not find expected key", "found character that
    cannot start any token"…) name the parser's state, not the writer's mistake; the mistake
    is read from the text at the place the parser stopped.
    """
    problem, context = (e.problem or "").strip(), (e.context or "").strip()
    mark = e.problem_mark or e.context_mark
    shift = first_line - 1
    line_no = (mark.line + 1 if mark else 1) + shift
    here = _line(text, mark)
    char = here[mark.column] if mark is not None and mark.column < len(here) else ""
    where = f"第 {line_no} 行"
    if "nesting depth" in problem:  # LibYAML's own limit, met by "[[[[…" bombs
        return line_no, f"嵌套层数超过 {MAX_DEPTH} 层"
    if "\t" in here[: len(here) - len(here.lstrip())] or char == "\t" or "tab" in problem:
        return line_no, (f"YAML 格式错误：{where}用了制表符（Tab）缩进或分隔。YAML 只认空格："
                         "请把这一行的 Tab 换成空格，并与同一层的其他行对齐")
    if "cannot start any token" in problem:
        return line_no, (f"YAML 格式错误：{where}的值以“{char}”开头，这个字符在 YAML 中有特殊含义。"
                         f"请把整个值用引号括起来，如 \"{here[mark.column:].strip()[:20]}\"")
    if "mapping values are not allowed" in problem:
        return line_no, (f"YAML 格式错误：{where}的值里有“冒号加空格”，YAML 把它当成了新的字段。"
                         "冒号是文字的一部分时，请把整个值用引号括起来，或改用中文冒号“：”；"
                         "这是一个字段时，请检查它的缩进是否与上面的字段对齐")
    if "could not find expected ':'" in problem and e.context_mark is not None:
        line_no = e.context_mark.line + 1 + shift
        return line_no, (f"YAML 格式错误：第 {line_no} 行既不是“字段: 值”（冒号后要有空格），也不是列表项“- 值”。"
                         "如果它是上一行的值的续行，请把整个值用引号括起来写在一行")
    if "quoted scalar" in context and e.context_mark is not None:
        start = e.context_mark.line + 1 + shift
        if "escape" in problem:
            return line_no, (f"YAML 格式错误：{where}双引号里的反斜杠“\\”不是合法的转义。"
                             "请改用单引号，或把反斜杠写成两个（\\\\）")
        return start, (f"YAML 格式错误：第 {start} 行开始的引号没有闭合。"
                       "请在值的末尾补上配对的引号，或去掉开头的引号")
    if "flow sequence" in context or "flow mapping" in context:
        start = e.context_mark.line + 1 + shift if e.context_mark else line_no
        return start, (f"YAML 格式错误：第 {start} 行的方括号列表没有写完。"
                       "列表应写在一行，各项用逗号分隔，以“]”结束，如 tags: [终本, 恢复执行]")
    if "did not find expected key" in problem or "expected <block end>" in problem \
            or "did not find expected '-'" in problem:
        stripped = here.lstrip()
        if mark is not None and mark.column > len(here) - len(stripped):
            return line_no, (f"YAML 格式错误：{where}的引号后面还有文字。"
                             "整个值都要放在引号里面，或者去掉引号")
        if stripped.startswith("-"):
            return line_no, (f"YAML 格式错误：{where}的列表项“{stripped[:20]}”缩进不对。"
                             "同一个列表的各项要用相同的空格数缩进，并比所属的字段（如 aliases:）多缩进")
        return line_no, (f"YAML 格式错误：{where}的缩进与上面的字段对不齐。"
                         "同一层的字段要从同一列开始；列表项要比所属的字段多缩进")
    if "anchor" in context or "alias" in context:
        return line_no, f"YAML 格式错误：{where}以 & 或 * 开头的值要用引号括起来"
    return line_no, (f"YAML 格式错误：{where}附近格式不对。请检查缩进（只能用空格）、"
                     f"冒号（后面要有空格）和引号是否成对（解析器的提示：{problem or context}）")


def load(text: str):
    return load_with_lines(text)[0]
