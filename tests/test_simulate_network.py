"""Homophily networks: targets met jointly, simple graphs, determinism, households, specs, output formats."""

from __future__ import annotations

import os
from pathlib import Path

import networkx as nx
import numpy as np
import pyarrow as pa
import pytest

from ingu.simulate.network import (
    ATTRIBUTES,
    HOUSEHOLD,
    KINDS,
    SOCIAL,
    Network,
    NetworkInputError,
    NetworkOutputError,
    NetworkSpec,
    NetworkSpecError,
    build_network,
    categorical_assortativity,
    encode_categories,
    load_network_spec,
    numeric_assortativity,
    read_network,
    write_network,
)

N = 20_000


@pytest.fixture(scope="module")
def table() -> pa.Table:
    from ingu.model.build import load_model
    from ingu.sample.sampler import generate, plan

    return pa.concat_tables(list(generate(plan(load_model()), N, 7)))


@pytest.fixture(scope="module")
def network(table: pa.Table) -> Network:
    return build_network(table, NetworkSpec(), seed=11)


def edge_keys(net: Network) -> np.ndarray:
    return net.src * net.n_nodes + net.dst


def recompute(net: Network, table: pa.Table, name: str, column: str | None = None) -> float:
    """Assortativity from the table's column and the edges, independently of the build's codes."""
    column = column or ATTRIBUTES[name][0]
    social = net.kind == SOCIAL
    if ATTRIBUTES[name][1] == "numeric":
        return numeric_assortativity(table.column(column).to_numpy(), net.src[social], net.dst[social])
    codes, _ = encode_categories(table.column(column))
    return categorical_assortativity(codes, net.src[social], net.dst[social])


# -- targets -----------------------------------------------------------------------------------------


def test_default_targets_met_jointly(network: Network, table: pa.Table) -> None:
    report = network.report
    assert report.ok
    targeted = [a for a in report.attributes if a.target is not None]
    assert {a.name for a in targeted} == {"age", "district", "education", "occupation", "family"}
    for a in targeted:
        measured = recompute(network, table, a.name)
        assert measured == pytest.approx(a.achieved, abs=1e-12)
        assert abs(measured - a.target) <= 0.05, (a.name, measured, a.target)
        assert a.status == "ok" and a.within_tolerance
    assert report.mean_degree_social == pytest.approx(10.0, rel=0.01)
    assert network.degree().mean() == pytest.approx(10.0, rel=0.01)
    # Every persona starts its share of edges (a few are lost as repeats): nobody is isolated.
    assert network.degree().min() >= 1


def test_other_targets_and_column_override(table: pa.Table) -> None:
    spec = NetworkSpec.from_dict({
        "mean_degree": 6,
        "assortativity": {"age": 0.7, "district": 0.3, "education": None, "occupation": 0.4,
                          "family": 0.35, "sex": 0.2},
        "columns": {"family": "marital_status"},
    })
    net = build_network(table, spec, seed=3)
    by_name = {a.name: a for a in net.report.attributes}
    assert net.report.ok, net.report.to_dict()
    assert by_name["family"].column == "marital_status"
    assert by_name["education"].status == "untargeted" and by_name["education"].target is None
    for name in ("age", "district", "occupation", "sex"):
        assert abs(recompute(net, table, name) - spec.assortativity[name]) <= 0.05
    assert abs(recompute(net, table, "family", "marital_status") - 0.35) <= 0.05
    assert net.report.mean_degree == pytest.approx(6.0, rel=0.01)


def test_unreachable_targets_are_reported_not_chased(table: pa.Table) -> None:
    spec = NetworkSpec.from_dict({"assortativity": {"age": 0.9, "occupation": -0.3}})
    net = build_network(table, spec, seed=1)
    by_name = {a.name: a for a in net.report.attributes}
    assert by_name["occupation"].status == "below_floor"
    assert by_name["occupation"].match_probability == 0.0
    assert "cannot go lower" in by_name["occupation"].note
    assert not net.report.ok
    assert by_name["age"].status == "ok"


# -- graph shape and determinism -------------------------------------------------------------------------


def test_simple_undirected_graph(network: Network) -> None:
    assert network.src.dtype == np.int64 and network.dst.dtype == np.int64
    assert (network.src < network.dst).all()  # no self loops, one orientation
    keys = edge_keys(network)
    assert np.unique(keys).size == keys.size  # no duplicates
    assert (np.diff(keys) > 0).all()  # sorted by (src, dst)
    assert network.dst.max() < network.n_nodes == N
    assert set(np.unique(network.kind)) == {SOCIAL}  # the sampler's table has no household_id


def test_same_seed_same_edges_other_seed_other_edges(table: pa.Table, network: Network) -> None:
    again = build_network(table, NetworkSpec(), seed=11)
    assert np.array_equal(again.src, network.src) and np.array_equal(again.dst, network.dst)
    other = build_network(table, NetworkSpec(), seed=12)
    assert not np.array_equal(edge_keys(other), edge_keys(network))
    overlap = np.intersect1d(edge_keys(other), edge_keys(network)).size / network.n_edges
    assert overlap < 0.2


# -- assortativity helpers against networkx --------------------------------------------------------------


def test_assortativity_matches_networkx(table: pa.Table) -> None:
    small = table.slice(0, 400)
    net = build_network(small, NetworkSpec.from_dict({"mean_degree": 6}), seed=5)
    graph = nx.Graph()
    ages = small.column("age").to_pylist()
    codes, _ = encode_categories(small.column("education_level"))
    for i in range(small.num_rows):
        graph.add_node(i, age=ages[i], education=int(codes[i]))
    graph.add_edges_from(zip(net.src.tolist(), net.dst.tolist()))
    expected_cat = nx.attribute_assortativity_coefficient(graph, "education")
    expected_num = nx.numeric_assortativity_coefficient(graph, "age")
    assert categorical_assortativity(codes, net.src, net.dst) == pytest.approx(expected_cat, abs=1e-9)
    assert numeric_assortativity(np.asarray(ages), net.src, net.dst) == pytest.approx(expected_num, abs=1e-9)


def test_assortativity_extremes() -> None:
    codes = np.array([0, 0, 1, 1])
    assert categorical_assortativity(codes, np.array([0, 2]), np.array([1, 3])) == pytest.approx(1.0)
    assert categorical_assortativity(codes, np.array([0, 1]), np.array([2, 3])) == pytest.approx(-1.0)
    assert np.isnan(categorical_assortativity(codes, np.array([], int), np.array([], int)))


# -- households ------------------------------------------------------------------------------------------


def test_household_cliques(table: pa.Table) -> None:
    small = table.slice(0, 3000)
    rng = np.random.default_rng(0)
    sizes = rng.integers(1, 6, size=small.num_rows)
    ids = np.repeat(np.arange(sizes.size), sizes)[: small.num_rows]
    household = pa.array([f"h{h}" for h in ids], mask=ids % 10 == 9)  # some persons without a household
    small = small.append_column("household_id", household)
    net = build_network(small, NetworkSpec(), seed=2)

    members: dict[int, list[int]] = {}
    for row, (h, null) in enumerate(zip(ids, ids % 10 == 9, strict=True)):
        if not null:
            members.setdefault(int(h), []).append(row)
    expected = {(a, b) for rows in members.values() for i, a in enumerate(rows) for b in rows[i + 1:]}
    got = {(int(s), int(d)) for s, d, k in zip(net.src, net.dst, net.kind, strict=True) if k == HOUSEHOLD}
    assert got == expected and len(expected) > 1000
    assert net.report.n_household == len(expected)
    keys = edge_keys(net)
    assert np.unique(keys).size == keys.size  # social ties never duplicate a household tie
    assert net.report.n_social == round(small.num_rows * 10 / 2)
    assert net.report.ok

    without = build_network(small, NetworkSpec.from_dict({"households": False}), seed=2)
    assert (without.kind == SOCIAL).all()


def test_oversized_household_rejected(table: pa.Table) -> None:
    small = table.slice(0, 200).append_column("household_id", pa.array(["same"] * 200))
    with pytest.raises(NetworkInputError, match="'same'.*200 members"):
        build_network(small, NetworkSpec(), seed=0)


# -- specs and inputs ------------------------------------------------------------------------------------


@pytest.mark.parametrize(("data", "fragment"), [
    ({"assortativity": {"religion": 0.3}}, "assortativity.religion: unknown attribute"),
    ({"columns": {"income": "x"}}, "columns.income: unknown attribute"),
    ({"mean_degre": 10}, "unknown key 'mean_degre'"),
    ({"mean_degree": -2}, "mean_degree must be a positive number"),
    ({"mean_degree": "ten"}, "mean_degree: expected a number"),
    ({"assortativity": {"age": 1.5}}, "assortativity.age: 1.5 is outside [-1, 1]"),
    ({"assortativity": {"district": "high"}}, "assortativity.district: expected a number"),
    ({"tolerance": 0}, "tolerance must be in (0, 1]"),
    ({"age_window": 40}, "age_window"),
    ({"households": "yes"}, "households: expected true or false"),
    ([1, 2], "a network spec is a mapping"),
])
def test_bad_spec_names_the_key(data: object, fragment: str) -> None:
    with pytest.raises(NetworkSpecError) as err:
        NetworkSpec.from_dict(data, source="spec.yaml")  # type: ignore[arg-type]
    assert str(err.value).startswith("spec.yaml: ")
    assert fragment in str(err.value)


def test_load_network_spec(tmp_path: Path) -> None:
    assert load_network_spec(None) == NetworkSpec()
    good = tmp_path / "net.yaml"
    good.write_text("mean_degree: 12\nassortativity: {age: 0.6, family: null}\n", encoding="utf-8")
    spec = load_network_spec(good)
    assert spec.mean_degree == 12 and spec.targets["age"] == 0.6 and "family" not in spec.targets
    assert spec.targets["district"] == 0.5  # defaults fill what the file leaves out
    assert NetworkSpec.from_dict(spec.to_dict()) == spec
    bad = tmp_path / "bad.yaml"
    bad.write_text("assortativity:\n  agee: 0.3\n", encoding="utf-8")
    with pytest.raises(NetworkSpecError, match=r"bad\.yaml: assortativity\.agee: unknown attribute"):
        load_network_spec(bad)
    with pytest.raises(NetworkSpecError, match="no such network spec file"):
        load_network_spec(tmp_path / "missing.yaml")
    broken = tmp_path / "broken.yaml"
    broken.write_text("mean_degree: [1\n", encoding="utf-8")
    with pytest.raises(NetworkSpecError, match="not valid YAML"):
        load_network_spec(broken)


def test_missing_column_names_column_and_file(table: pa.Table) -> None:
    small = table.slice(0, 500).drop_columns(["education_level"])
    with pytest.raises(NetworkInputError, match=r"people\.parquet: column 'education_level' \(attribute 'education'\)"):
        build_network(small, NetworkSpec(), seed=0, source="people.parquet")
    # Untargeted, the same attribute is simply not measured.
    net = build_network(small, NetworkSpec.from_dict({"assortativity": {"education": None}}), seed=0)
    assert {a.name: a.status for a in net.report.attributes}["education"] == "unmeasured"


def test_mean_degree_must_fit(table: pa.Table) -> None:
    with pytest.raises(NetworkInputError, match="does not fit 5 personas"):
        build_network(table.slice(0, 5), NetworkSpec.from_dict({"mean_degree": 4}), seed=0)


# -- output ----------------------------------------------------------------------------------------------


def test_parquet_round_trip_keeps_isolated_nodes(table: pa.Table, tmp_path: Path) -> None:
    small = table.slice(0, 1000)
    net = build_network(small, NetworkSpec.from_dict({"mean_degree": 0.5}), seed=4)
    assert (net.degree() == 0).any()
    path = tmp_path / "edges.parquet"
    write_network(net, path)
    back = read_network(path)
    assert back.n_nodes == 1000
    assert np.array_equal(back.src, net.src) and np.array_equal(back.dst, net.dst)
    assert np.array_equal(back.kind, net.kind)
    assert back.report == net.report and back.spec == net.spec
    connected = net.degree() > 0
    uuids = np.array(back.uuid.to_pylist(), dtype=object)
    assert all(u is None for u in uuids[~connected])
    assert list(uuids[connected]) == list(np.array(small.column("uuid").to_pylist(), dtype=object)[connected])
    edges = pa.parquet.read_table(path)
    assert edges.column_names == ["src", "dst", "kind", "src_uuid", "dst_uuid"]
    assert set(edges.column("kind").to_pylist()) <= set(KINDS)

    with pytest.raises(NetworkOutputError, match="already exists"):
        write_network(net, path)
    write_network(net, path, overwrite=True)
    assert not [p for p in os.listdir(tmp_path) if p.endswith(".tmp")]
    with pytest.raises(NetworkOutputError, match="expected a .parquet file"):
        write_network(net, tmp_path / "edges.csv")


def test_graphml_round_trips_through_networkx(table: pa.Table, tmp_path: Path) -> None:
    small = table.slice(0, 1500)
    # A label XML must escape, and one it cannot carry at all.
    districts = small.column("district").to_pylist()
    districts[0] = 'A&B <"x">'
    districts[1] = "bad\x01char"
    small = small.set_column(small.column_names.index("district"), "district", pa.array(districts))
    net = build_network(small, NetworkSpec.from_dict({"mean_degree": 4}), seed=9)
    edges, graphml = tmp_path / "e.parquet", tmp_path / "g.graphml"
    write_network(net, edges, graphml)
    graph = nx.read_graphml(graphml, node_type=int)
    assert graph.number_of_nodes() == small.num_rows
    got = {(min(a, b), max(a, b)) for a, b in graph.edges()}
    assert got == set(zip(net.src.tolist(), net.dst.tolist(), strict=True))
    assert {d["kind"] for _, _, d in graph.edges(data=True)} == {"social"}
    node = graph.nodes[5]
    assert node["uuid"] == small.column("uuid")[5].as_py()
    assert node["age"] == small.column("age")[5].as_py() and isinstance(node["age"], int)
    assert node["education_level"] == small.column("education_level")[5].as_py()
    assert graph.nodes[0]["district"] == 'A&B <"x">'
    assert graph.nodes[1]["district"] == "badchar"
    # A null category is a missing <data> element.
    occupation = small.column("occupation_major").to_pylist()
    unemployed = occupation.index(None)
    assert "occupation_major" not in graph.nodes[unemployed]
