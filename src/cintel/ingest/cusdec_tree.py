"""A CUSDEC message as its segment-group tree: which segment belongs to which group.

A qualifier means something only in its group: ``DTM+137`` directly in the header is the
declaration date, ``DTM+137`` under ``RFF`` is the date of that reference. So the mapping reads
a message as a tree, built here from the branching diagram of UN/EDIFACT CUSDEC D:96B / D:99B,
written as data (``SECTIONS``): per section (header, detail, summary) the segments that stand
alone and the groups, each with its trigger segment (the first segment, which opens a new
instance of the group) and the segments that may follow it inside the group.

The diagram is simplified where that loses nothing the mapping needs: nested groups whose only
use is contact details (NAD > CTA-COM) are flattened into their parent, and repeat counts are not
enforced (the message size limit bounds them). A segment that the diagram does not allow where it
stands is not an error: it closes open groups until one accepts it, and at the section root it is
kept as a root segment, so a guide that strays from the directory still maps.

Sections: the header runs to ``UNS+D``, the detail section (the items) to ``UNS+S``, the summary
after it. The item group's trigger is ``LIN`` when the detail section has one (guides that use
LIN-PIA), else ``CST`` (the D:96B customs item group).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

from cintel.ingest.edifact import Element, element_value

GroupSpec = dict[str, tuple[str, ...]]  # trigger -> segments allowed after it inside the group

# Groups the header, each item and the summary may hold (trigger -> following segments).
HEADER_GROUPS: GroupSpec = {
    "RFF": ("DTM",),                        # reference and its date
    "PAC": ("PCI", "FTX", "MEA", "QTY"),    # packages and their marks
    "TDT": ("DTM", "LOC", "RFF"),           # transport details
    "NAD": ("CTA", "COM", "RFF", "DTM"),    # parties (CTA-COM flattened)
    "DOC": ("DTM", "LOC"),                  # documents produced
    "TOD": ("LOC", "FTX"),                  # terms of delivery
    "CUX": ("DTM",),                        # currencies and rate
    "MOA": ("CUX", "DTM"),                  # amounts
    "TAX": ("MOA", "GIS"),                  # duties, taxes, fees
    "EQD": ("SEL", "MEA"),                  # equipment (containers) and seals
    "GIR": ("QTY", "LOC", "RFF"),           # related identification numbers
}
ITEM_GROUPS: GroupSpec = {
    "RFF": ("DTM",),
    "DOC": ("DTM", "LOC"),
    "PAC": ("PCI", "FTX", "MEA", "QTY"),
    "NAD": ("CTA", "COM", "RFF", "DTM"),
    "TAX": ("MOA", "GIS"),
    "MOA": ("CUX", "DTM"),
    "SGP": ("MEA",),                        # split goods placement: the item's container
    "GIR": ("QTY", "LOC", "RFF"),
    "TOD": ("LOC", "FTX"),
    "CUX": ("DTM",),
    "TDT": ("DTM", "LOC"),
}
HEADER_SEGMENTS = ("BGM", "CST", "LOC", "DTM", "GIS", "MEA", "FTX", "QTY", "ALI", "IMD")
ITEM_SEGMENTS = ("CST", "PIA", "IMD", "FTX", "LOC", "MEA", "QTY", "DTM", "GIS", "ALI")
SUMMARY_SEGMENTS = ("CNT", "AUT", "FTX")
SUMMARY_GROUPS: GroupSpec = {"TAX": ("MOA", "GIS"), "MOA": ("CUX", "DTM")}
ITEM_TRIGGERS = ("LIN", "CST")
MAX_DEPTH = 4  # root > item > group > segment; deeper nesting is never needed


@dataclass(frozen=True)
class Parsed:
    """One segment, split into its elements; ``ordinal`` is its number in the interchange."""

    ordinal: int
    tag: str
    elements: list[Element]

    def get(self, i: int, j: int = 0) -> str | None:
        """Element i (0-based, after the tag), component j; None when empty or absent."""
        return element_value(self.elements, i, j)

    def components(self, i: int) -> list[str]:
        if i >= len(self.elements):
            return []
        element = self.elements[i]
        return list(element) if isinstance(element, list) else [element]


@dataclass
class Node:
    """A segment and, when it opens a group, the segments of that group instance."""

    seg: Parsed | None  # None for a section root
    children: list[Node] = field(default_factory=list)

    @property
    def tag(self) -> str:
        return self.seg.tag if self.seg is not None else ""

    def walk(self) -> Iterator[Node]:
        """This node and every node under it, in message order."""
        yield self
        for child in self.children:
            yield from child.walk()


@dataclass
class MessageTree:
    """The three sections of a CUSDEC message body (between UNH and UNT)."""

    header: Node
    items: list[Node]  # one node per item, the trigger (LIN or CST) as its segment
    summary: Node
    item_tag: str


@dataclass(frozen=True)
class _Spec:
    segments: tuple[str, ...]
    groups: GroupSpec


def build_tree(body: list[Parsed], item_triggers: tuple[str, ...] = ITEM_TRIGGERS) -> MessageTree:
    """The segment-group tree of a message body (UNH and UNT excluded).

    Never fails: a segment out of place is kept at its section's root (see the module docstring).
    """
    detail_tags = _detail_tags(body)
    item_tag = next((t for t in item_triggers if t in detail_tags), item_triggers[-1] if item_triggers else "CST")
    header, summary = Node(None), Node(None)
    items: list[Node] = []
    item_spec = _Spec(tuple(t for t in ITEM_SEGMENTS if t != item_tag), ITEM_GROUPS)
    specs = {"header": _Spec(HEADER_SEGMENTS, HEADER_GROUPS), "summary": _Spec(SUMMARY_SEGMENTS, SUMMARY_GROUPS)}
    section = "header"
    stack: list[tuple[Node, _Spec]] = [(header, specs["header"])]
    for seg in body:
        if seg.tag == "UNS":
            section = "summary" if seg.get(0) == "S" else "detail"
            if section == "summary":
                stack = [(summary, specs["summary"])]
            else:  # segments before the first item stay with the header
                stack = [(items[-1], item_spec)] if items else [(header, specs["header"])]
            continue
        if seg.tag == item_tag and (section == "detail" or (section == "header" and item_tag == "LIN")):
            section = "detail"  # LIN never belongs to the header: an item starts even without UNS+D
            item = Node(seg)
            items.append(item)
            stack = [(item, item_spec)]
            continue
        _place(stack, seg)
    return MessageTree(header, items, summary, item_tag)


def _detail_tags(body: list[Parsed]) -> set[str]:
    tags: set[str] = set()
    detail = False
    for seg in body:
        if seg.tag == "UNS":
            detail = seg.get(0) != "S"
        elif detail or seg.tag == "LIN":
            tags.add(seg.tag)
    return tags


def _place(stack: list[tuple[Node, _Spec]], seg: Parsed) -> None:
    """Attach a segment to the innermost open group that accepts it, closing the others."""
    while True:
        node, spec = stack[-1]
        if seg.tag in spec.groups and len(stack) < MAX_DEPTH:
            child = Node(seg)
            node.children.append(child)
            stack.append((child, _Spec(spec.groups[seg.tag], {})))
            return
        if seg.tag in spec.segments or len(stack) == 1:
            node.children.append(Node(seg))
            return
        stack.pop()
