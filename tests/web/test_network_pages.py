"""The graph expansion API, the network page (paths, rings) and the expansion benchmark's smoke run."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import polars as pl
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from cintel.domain.permissions import Area, may_read
from cintel.domain.roles import Role
from cintel.network.cache import network_cache
from cintel.network.expansion import expand
from cintel.network.store_graph import load_network
from cintel.store.entity_tables import entities
from cintel.store.web_tables import access_log
from tests.conftest import Workspace

Client = Callable[[str], tuple[TestClient, str]]
ROOT = Path(__file__).resolve().parents[2]


def ring_members(workspace: Workspace) -> list[str]:
    labels = workspace.demo["entities"]["rings"][0]["companies"]
    with workspace.engine.connect() as conn:
        ids = conn.execute(select(entities.c.entity_id).where(entities.c.label.in_(labels))).scalars().all()
    return sorted(ids)


def test_expansion_answers_cytoscape_elements_of_the_direct_ties(workspace: Workspace,
                                                                 workspace_client: Client) -> None:
    client, _ = workspace_client("analyst")
    node = f"entity:{ring_members(workspace)[0]}"
    body = client.get("/api/v1/network/expand", params={"node": node}).json()
    assert body["node"] == node
    assert body["nodes"][0]["data"]["id"] == node
    ids = {n["data"]["id"] for n in body["nodes"]}
    for edge in body["edges"]:
        data = edge["data"]
        assert node in (data["source"], data["target"])
        assert {data["source"], data["target"]} <= ids
        assert data["kind"]
        assert data["source_kind"]
        assert data["source_key"]
    flags = body["nodes"][0]["data"]
    assert {"kind", "label", "risk", "listed", "caught"} <= set(flags)
    assert body["graph"]["as_of"].endswith("+00:00")  # when the graph answered was built
    assert isinstance(body["graph"]["refreshing"], bool)


def test_edge_kind_and_date_filters_narrow_the_answer(workspace: Workspace, workspace_client: Client) -> None:
    client, _ = workspace_client("analyst")
    node = f"entity:{ring_members(workspace)[0]}"
    everything = client.get("/api/v1/network/expand", params={"node": node}).json()
    kinds = {e["data"]["kind"] for e in everything["edges"]}
    one = sorted(kinds)[0]
    only = client.get("/api/v1/network/expand", params={"node": node, "kinds": [one]}).json()
    assert {e["data"]["kind"] for e in only["edges"]} == {one}
    dated = client.get("/api/v1/network/expand", params={"node": node, "since": "2099-01-01"}).json()
    assert all(e["data"]["date"] is None for e in dated["edges"])


def test_a_hub_answers_its_top_neighbours_and_counts_the_rest(workspace: Workspace) -> None:
    network = network_cache(workspace.engine).network()
    g = network.graph
    hub = g.nodes["node_id"][int(g.degree.argmax())]
    answer = expand(network, hub, limit=5)
    assert answer["shown"] == 5
    assert answer["more"] == answer["total"] - 5 > 0
    assert len(answer["nodes"]) == 6


def test_expansion_equals_the_uncached_graph(workspace: Workspace) -> None:
    node = f"entity:{ring_members(workspace)[0]}"
    cached = expand(network_cache(workspace.engine).network(), node)
    fresh = expand(load_network(workspace.engine), node)
    assert sorted(n["data"]["id"] for n in cached["nodes"]) == sorted(n["data"]["id"] for n in fresh["nodes"])
    assert len(cached["edges"]) == len(fresh["edges"])


@pytest.mark.parametrize(("params", "field"), [
    ({"node": "entity:X", "kinds": "friend_of"}, "kinds"),
    ({"node": "entity:X", "since": "2025-02-30"}, "since"),
    ({"node": "entity:X", "until": "yesterday"}, "until"),
    ({"node": "entity:X", "limit": "0"}, "limit"),
    ({"node": "entity:X", "limit": "501"}, "limit"),
    ({}, "node"),
])
def test_malformed_expansions_are_refused_clearly(workspace_client: Client, params: dict[str, str], field: str) -> None:
    client, _ = workspace_client("analyst")
    answer = client.get("/api/v1/network/expand", params=params)
    assert answer.status_code == 422
    assert answer.json()["errors"][0]["field"].split(".")[0] == field


def test_an_unknown_node_is_404_and_reversed_dates_422(workspace_client: Client) -> None:
    client, _ = workspace_client("analyst")
    assert client.get("/api/v1/network/expand", params={"node": "entity:ENT99999999"}).status_code == 404
    assert client.get("/api/v1/network/expand", params={"node": "entity:X", "since": "2025-02-01",
                                                        "until": "2025-01-01"}).status_code == 422


def test_expanding_an_entity_is_logged_as_a_view_of_it(workspace: Workspace, workspace_client: Client) -> None:
    client, _ = workspace_client("analyst")
    entity_id = ring_members(workspace)[0]
    client.get("/api/v1/network/expand", params={"node": f"entity:{entity_id}", "purpose": "lead 7 graph"})
    with workspace.engine.connect() as conn:
        row = conn.execute(select(access_log).where(access_log.c.purpose == "lead 7 graph")).mappings().first()
    assert row is not None
    assert (row["object_kind"], row["object_id"], row["username"]) == ("entity", entity_id, "demo-analyst")


def test_the_network_page_draws_each_ring_with_what_ties_it_and_a_case_form(workspace: Workspace,
                                                                           workspace_client: Client) -> None:
    client, _ = workspace_client("targeting_officer")
    page = client.get("/network").text
    rings = client.get("/api/v1/network/rings?top=3").json()["rings"]
    assert rings
    top = rings[0]
    assert top["rank"] == 1
    assert top["summary"] == workspace.demo["entities"]["rings"][0]["summary"]
    assert top["summary"].replace("'", "&#39;") in page
    # drawn: the ring's elements reach the page as JSON in a script element, one drawing per ring
    drawn = re.search(rf'<script type="application/json" id="{top["ring_id"]}-elements">(.*?)</script>', page, re.S)
    assert drawn is not None
    elements = json.loads(drawn.group(1))
    assert elements == top["elements"]
    labels = {n["data"]["label"] for n in elements["nodes"]}
    assert {m["label"] for m in top["members"]} <= labels
    assert {t["label"] for t in top["ties"]} <= labels  # what they share is drawn too
    assert page.count('class="ring-graph"') == len(client.get("/api/v1/network/rings").json()["rings"])
    # what ties them is said in words with its sources, never as record hashes
    assert top["ties"][0]["kind"] in {"director", "address", "phone", "e-mail", "account"}
    hashes = {e[f"source_key_{s}"] for e in top["evidence"] for s in ("a", "b") if e[f"source_kind_{s}"]
              == "entity_records"}
    assert hashes
    assert not any(h in page for h in hashes)
    members = ",".join(m["entity_id"] for m in top["members"])
    assert 'action="/network/rings/case"' in page
    assert f'name="origin_ref" value="{members}"' in page


def test_a_ring_case_title_refused_comes_back_typed_with_the_error_beside_it(workspace_client: Client) -> None:
    client, csrf = workspace_client("analyst")
    top = client.get("/api/v1/network/rings?top=1").json()["rings"][0]
    members = ",".join(m["entity_id"] for m in top["members"])
    form = {"csrf_token": csrf, "ring_id": top["ring_id"], "origin_ref": members, "top": "10"}
    refused = client.post("/network/rings/case", data={**form, "title": "   "})
    assert refused.status_code == 422
    assert re.search(rf'id="{top["ring_id"]}-title"[^>]*value="   "[^>]*aria-invalid="true"', refused.text, re.S)
    assert f'id="{top["ring_id"]}-title-error"' in refused.text
    assert 'class="ring-graph"' in refused.text  # the whole page, not a bare error
    opened = client.post("/network/rings/case", data={**form, "title": "Delta Moex ring"})
    assert opened.status_code == 303
    assert re.fullmatch(r"/cases/\d+", opened.headers["location"])


@pytest.mark.parametrize("role", Role.codes())
def test_the_network_admits_exactly_the_roles_the_permission_rule_names(workspace_client: Client,
                                                                        role: str) -> None:
    client, _ = workspace_client(role)
    expected = 200 if may_read({role}, Area.NETWORK) else 403
    for path in ("/network", "/api/v1/network/rings?top=1"):
        assert client.get(path).status_code == expected


def test_paths_between_two_entities_show_each_ties_provenance(workspace: Workspace, workspace_client: Client) -> None:
    client, _ = workspace_client("analyst")
    a, b = ring_members(workspace)[:2]
    body = client.get("/api/v1/network/path", params={"source": a, "target": b}).json()
    assert body["paths"]
    step = body["paths"][0]["steps"][0]
    assert step["source_kind"]
    assert step["source_key"]
    page = client.get("/network", params={"source": a, "target": b}).text
    assert step["source_key"] in page


def test_a_path_reference_may_be_a_name(workspace: Workspace, workspace_client: Client) -> None:
    client, _ = workspace_client("analyst")
    a, b = ring_members(workspace)[:2]
    with workspace.engine.connect() as conn:
        label = conn.execute(select(entities.c.label).where(entities.c.entity_id == b)).scalar_one()
    body = client.get("/api/v1/network/path", params={"source": a, "target": label}).json()
    assert body["target"]["label"] == label


def test_unknown_path_ends_are_404_and_hostile_ones_escaped(workspace_client: Client) -> None:
    client, _ = workspace_client("analyst")
    hostile = "<script>alert(1)</script>"
    assert client.get("/api/v1/network/path", params={"source": "zzqx", "target": "qqzx"}).status_code == 404
    page = client.get("/network", params={"source": hostile, "target": hostile})
    assert page.status_code == 200
    assert "<script>alert" not in page.text


@pytest.mark.parametrize("role", ["inspector", "administrator"])
def test_the_network_is_refused_to_other_roles(workspace_client: Client, role: str) -> None:
    client, _ = workspace_client(role)
    assert client.get("/network").status_code == 403
    assert client.get("/api/v1/network/rings").status_code == 403
    assert client.get("/api/v1/network/path?source=a&target=b").status_code == 403


def test_the_graph_benchmark_runs_in_smoke_mode() -> None:
    done = subprocess.run([sys.executable, "bench/bench_web_graph.py", "--smoke", "--json"], cwd=ROOT,
                          capture_output=True, text=True, timeout=600, check=True)
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["http_ms"]["p95"] > 0
    assert result["direct_ms"]["p95"] > 0
    assert result["cold_first_call_ms"] > 0
    assert result["graph"]["nodes"] > 0
    assert result["after_store_change"]["first_call_ms"] > 0
    assert result["after_store_change"]["http_ms"]["p95"] > 0
    assert pl is not None
