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
        mark = e.problem_mark or e.context_mark
        line = (mark.line + 1 if mark else 1) + offset
        what = (e.problem or e.context or "格式错误").strip()
        if "nesting depth" in what:  # LibYAML's own limit, met by "[[[[…" bombs
            raise YAMLProblem(line, f"嵌套层数超过 {MAX_DEPTH} 层") from None
        raise YAMLProblem(line, f"YAML 格式错误：{what}") from None
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


def load(text: str):
    return load_with_lines(text)[0]
