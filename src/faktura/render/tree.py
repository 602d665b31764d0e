"""A write-only XML element tree: what the UBL renderer needs of lxml, and no more.

An element is a prefixed tag (`cbc:ID`), its attributes, and either its text or its
children. `tostring` writes the tree as lxml writes the same tree after
`etree.indent(root, space="  ")` with `etree.tostring(root, encoding="UTF-8")`, byte for
byte: two spaces per level, an empty element as `<tag/>`, text escaped as libxml2 escapes
it (`& < >` and CR), attribute values also with `"`, tab, LF and CR as references, every
other character as UTF-8. Text XML 1.0 cannot carry raises ValueError, as lxml does.

Why not lxml itself: it resolves the `{namespace}name` of every element it makes (a few
microseconds each), and a ten-line invoice has about 270 elements, so building the tree
was most of an issue's rendering time. Here the namespaces are declared once, on the root,
and every element is written under its prefix, which is all a renderer with a fixed
namespace map needs. `tests/test_render_tree.py` holds the serialization to lxml's on
random trees and on the renderer's output for every example and corpus case.
"""

from __future__ import annotations

#: Bytes of the C0 controls XML 1.0 cannot carry (all but tab, LF and CR): in UTF-8 such a
#: byte is always that character. U+FFFE and U+FFFF are refused too; a lone surrogate
#: cannot be encoded at all (UnicodeEncodeError, a ValueError).
_CARRIED = bytes(b for b in range(256) if b >= 0x20 or b in b"\t\n\r")
_NON_CHARACTERS = ("\ufffe".encode(), "\uffff".encode())
NOT_XML_MESSAGE = "All strings must be XML compatible: Unicode or ASCII, no NULL bytes or control characters"


class Element:
    """`tag` is prefixed (`cac:Party`); `attrs` keep the order they were set in."""

    __slots__ = ("attrs", "children", "tag", "text")

    def __init__(self, tag: str, text: str | None = None, attrs: dict[str, str] | None = None):
        self.tag = tag
        self.text = text
        self.attrs = attrs
        self.children: list[Element] = []

    @property
    def name(self) -> str:
        """The local name (`Party` of `cac:Party`)."""
        return self.tag.rpartition(":")[2]

    def append(self, child: Element) -> None:
        self.children.append(child)

    def __len__(self) -> int:
        return len(self.children)


def _escaped(text: str) -> str:
    if "&" in text or "<" in text or ">" in text or "\r" in text:
        return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("\r", "&#13;")
    return text


_ATTRIBUTE = str.maketrans(
    {"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "\t": "&#9;", "\n": "&#10;", "\r": "&#13;"}
)


def _start(el: Element) -> str:
    if not el.attrs:
        return "<" + el.tag
    return "<" + el.tag + "".join(f' {k}="{v.translate(_ATTRIBUTE)}"' for k, v in el.attrs.items())


def _write(el: Element, out: list[str], indent: str) -> None:
    """`el`, which has children, each on a line of its own one level deeper."""
    inner = indent + "  "
    out.append(_start(el) + ">")
    for child in el.children:
        if child.children:
            out.append(inner)
            _write(child, out, inner)
        elif child.text is None:
            out.append(inner + _start(child) + "/>")
        else:
            out.append(f"{inner}{_start(child)}>{_escaped(child.text)}</{child.tag}>")
    out.append(indent + "</" + el.tag + ">")


def tostring(root: Element) -> bytes:
    """The indented tree (a root with children) as UTF-8, without an XML declaration or a
    final line break."""
    out: list[str] = []
    _write(root, out, "\n")
    data = "".join(out).encode()
    if data.translate(None, _CARRIED) or any(c in data for c in _NON_CHARACTERS):
        raise ValueError(NOT_XML_MESSAGE)
    return data
