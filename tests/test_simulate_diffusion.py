"""Diffusion: IC, LT and SIR against graph facts (components, BFS distances), determinism, curves, output."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from scipy.sparse.csgraph import connected_components, shortest_path

from ingu.simulate.diffusion import (
    INFECTED,
    RECOVERED,
    SIR,
    SUSCEPTIBLE,
    DiffusionError,
    DiffusionResult,
    IndependentCascade,
    LinearThreshold,
    diffuse,
    diffusion_charts,
    make_model,
    write_diffusion,
)
from ingu.simulate.network import Network, NetworkOutputError, NetworkSpec, build_network

N = 20_000


@pytest.fixture(scope="module")
def table() -> pa.Table:
    from ingu.model.build import load_model
    from ingu.sample.sampler import generate, plan

    return pa.concat_tables(list(generate(plan(load_model()), N, 3)))


@pytest.fixture(scope="module")
def network(table: pa.Table) -> Network:
    return build_network(table, NetworkSpec(), seed=1)


@pytest.fixture(scope="module")
def sparse_network(table: pa.Table) -> Network:
    """Mean degree 1.5: many components, so 'reaches its component' is a real constraint."""
    return build_network(table.slice(0, 3000), NetworkSpec.from_dict({"mean_degree": 1.5}), seed=2)


def adopted(result: DiffusionResult) -> np.ndarray:
    return np.flatnonzero(result.state != SUSCEPTIBLE)


def overall(result: DiffusionResult) -> pl.DataFrame:
    return result.curves.filter(pl.col("group_var") == "all").sort("step")


# -- models against graph facts ------------------------------------------------------------------


def test_sir_with_beta_zero_never_spreads(network: Network) -> None:
    result = diffuse(network, SIR(beta=0.0, gamma=0.3), steps=50, seed=4, initial=25)
    curve = overall(result)
    assert (curve["adopted"] == 25).all()
    assert curve["infected"][0] == 25 and curve["infected"][-1] == 0  # they all recover
    assert set(adopted(result)) == set(result.initial.tolist())


def test_ic_with_p_one_reaches_the_component_by_bfs_distance(sparse_network: Network) -> None:
    initial = [0, 1, 2]
    result = diffuse(sparse_network, IndependentCascade(p=1.0), steps=3000, seed=0, initial=initial)
    matrix = sparse_network.adjacency()
    _, labels = connected_components(matrix, directed=False)
    expected = np.flatnonzero(np.isin(labels, labels[initial]))
    assert np.array_equal(adopted(result), expected)
    assert expected.size < sparse_network.n_nodes  # the other components stay untouched
    distance = shortest_path(matrix, unweighted=True, indices=initial, directed=False).min(axis=0)
    assert np.array_equal(result.adopted_step[expected], distance[expected].astype(np.int32))


def test_ic_with_p_zero_stops_at_the_initial_nodes(network: Network) -> None:
    result = diffuse(network, IndependentCascade(p=0.0), steps=10, seed=0, initial=5)
    assert adopted(result).size == 5
    assert overall(result)["recovered"][-1] == 5  # one chance only, then inactive


def test_linear_threshold_is_monotone(network: Network) -> None:
    result = diffuse(network, LinearThreshold(), steps=60, seed=8, initial=200)
    curve = overall(result)
    assert (np.diff(curve["adopted"].to_numpy()) >= 0).all()
    assert curve["adopted"][-1] > 200
    # Thresholds depend on the seed only: more initial adopters can only reach a superset.
    more = diffuse(network, LinearThreshold(), steps=60, seed=8, initial=list(result.initial) + list(range(300)))
    assert set(adopted(result)) <= set(adopted(more))


def test_linear_threshold_rule_holds_node_by_node(network: Network) -> None:
    steps = 40
    result = diffuse(network, LinearThreshold(threshold=0.2), steps=steps, seed=0, initial=1000)
    when = np.where(result.adopted_step >= 0, result.adopted_step, steps + 1)
    rows, cols = np.concatenate([network.src, network.dst]), np.concatenate([network.dst, network.src])
    degree = network.degree()
    # Share of each node's neighbours that had adopted before the step it adopted at (or by the end).
    before = np.bincount(rows, weights=when[cols] < when[rows], minlength=network.n_nodes) / degree
    later = result.adopted_step > 0
    assert later.sum() > 300
    assert (before[later] >= 0.2 - 1e-9).all()
    frozen = overall(result)["adopted"][-1] == overall(result)["adopted"][-2]
    assert frozen
    never = result.adopted_step < 0
    assert (np.bincount(rows, weights=when[cols] <= steps, minlength=network.n_nodes)[never] / degree[never]
            < 0.2).all()


def test_sir_spreads_and_recovers(network: Network) -> None:
    result = diffuse(network, SIR(beta=0.1, gamma=0.2), steps=100, seed=5, initial=10)
    curve = overall(result)
    assert curve["adopted"][-1] > 0.5 * N
    assert (np.diff(curve["adopted"].to_numpy()) >= 0).all()
    assert (np.diff(curve["susceptible"].to_numpy()) <= 0).all()
    assert curve["recovered"][-1] > curve["infected"][-1]
    assert set(np.unique(result.state)) <= {SUSCEPTIBLE, INFECTED, RECOVERED}


# -- determinism and curves ----------------------------------------------------------------------------


@pytest.mark.parametrize("model", ["ic", "lt", "sir"])
def test_same_seed_same_curves_other_seed_other(network: Network, table: pa.Table, model: str) -> None:
    kwargs = {"steps": 40, "initial": 30, "table": table, "group_by": ["sex"]}
    a = diffuse(network, model, seed=21, **kwargs)
    b = diffuse(network, model, seed=21, **kwargs)
    c = diffuse(network, model, seed=22, **kwargs)
    assert a.curves.equals(b.curves) and np.array_equal(a.state, b.state)
    assert np.array_equal(a.adopted_step, b.adopted_step)
    assert not np.array_equal(a.initial, c.initial)
    assert not a.curves.equals(c.curves)


def test_group_curves_add_up(network: Network, table: pa.Table) -> None:
    result = diffuse(network, make_model("sir", beta=0.08, gamma=0.1), steps=30, seed=2, initial=20,
                     table=table, group_by=["sex", "age_band", "province"])
    curves = result.curves
    assert curves.height == 31 * (1 + 2 + 6 + 17)
    assert ((curves["susceptible"] + curves["infected"] + curves["recovered"]) == curves["n"]).all()
    assert ((curves["adopted"]) == curves["infected"] + curves["recovered"]).all()
    total = overall(result).select("step", "susceptible", "infected", "recovered")
    for var in ("sex", "age_band", "province"):
        summed = (curves.filter(pl.col("group_var") == var).group_by("step")
                  .agg(pl.col("susceptible", "infected", "recovered").sum()).sort("step"))
        assert summed.equals(total.cast(summed.schema))
    bands = curves.filter((pl.col("group_var") == "age_band") & (pl.col("step") == 0))
    assert bands["group_value"].to_list() == ["<30", "30–39", "40–49", "50–59", "60–69", "70+"]
    sexes = curves.filter((pl.col("group_var") == "sex") & (pl.col("step") == 0))
    assert dict(zip(sexes["group_value"], sexes["n"], strict=True)) == {
        s: table.column("sex").to_pylist().count(s) for s in ("남자", "여자")}


def test_initial_nodes_within_a_group(network: Network, table: pa.Table) -> None:
    result = diffuse(network, "ic", steps=5, seed=3, initial=40, initial_group={"province": "서울"}, table=table)
    provinces = np.array(table.column("province").to_pylist(), dtype=object)
    assert result.initial.size == 40 and (provinces[result.initial] == "서울").all()


# -- errors ----------------------------------------------------------------------------------------------


def test_errors_name_the_parameter(network: Network, table: pa.Table) -> None:
    with pytest.raises(DiffusionError, match="unknown model 'bass'"):
        make_model("bass")
    with pytest.raises(DiffusionError, match="unknown parameter 'q'"):
        make_model("ic", q=0.1)
    with pytest.raises(DiffusionError, match="beta must be in"):
        diffuse(network, SIR(beta=1.5), steps=1)
    with pytest.raises(DiffusionError, match="threshold must be in"):
        diffuse(network, LinearThreshold(threshold=0.0), steps=1)
    with pytest.raises(DiffusionError, match="initial must be between 1 and"):
        diffuse(network, "ic", initial=0)
    with pytest.raises(DiffusionError, match="initial node indices"):
        diffuse(network, "ic", initial=[N])
    with pytest.raises(DiffusionError, match="steps must be"):
        diffuse(network, "ic", steps=-1)
    with pytest.raises(DiffusionError, match="column 'religion' is not in the table"):
        diffuse(network, "ic", table=table, group_by=["religion"])
    with pytest.raises(DiffusionError, match="need the persona table"):
        diffuse(network, "ic", group_by=["sex"])
    with pytest.raises(DiffusionError, match="has 100 rows but the network has"):
        diffuse(network, "ic", table=table.slice(0, 100))
    shuffled = table.take(pa.array(np.random.default_rng(0).permutation(N)))
    with pytest.raises(DiffusionError, match="uuid column differs"):
        diffuse(network, "ic", table=shuffled)
    with pytest.raises(DiffusionError, match="matches no persona"):
        diffuse(network, "ic", table=table, initial_group={"province": "화성"})


# -- output ----------------------------------------------------------------------------------------------


def test_write_diffusion(network: Network, table: pa.Table, tmp_path: Path) -> None:
    result = diffuse(network, "sir", steps=20, seed=1, initial=10, table=table, group_by=["sex", "province"])
    out = tmp_path / "run"
    paths = write_diffusion(result, out)
    names = sorted(p.name for p in paths)
    assert names == sorted(["curves.parquet", "curves.csv", "final_state.parquet", "adoption_overall.svg",
                            "adoption_by_sex.svg", "adoption_by_province.svg"])
    back = pl.from_arrow(pq.read_table(out / "curves.parquet"))
    assert back.equals(result.curves)
    assert pl.read_csv(out / "curves.csv").height == result.curves.height
    state = pq.read_table(out / "final_state.parquet")
    assert state.num_rows == N
    assert np.array_equal(state.column("adopted_step").to_numpy(), result.adopted_step)
    for svg in out.glob("*.svg"):
        root = ET.fromstring(svg.read_text(encoding="utf-8"))
        assert root.tag.endswith("svg")
    with pytest.raises(NetworkOutputError, match="already exists"):
        write_diffusion(result, out)
    write_diffusion(result, out, overwrite=True)
    assert not list(out.glob(".*.tmp"))


def test_charts_follow_the_contract(network: Network, table: pa.Table) -> None:
    result = diffuse(network, "lt", steps=15, seed=1, initial=50, table=table, group_by=["province"])
    charts = dict(diffusion_charts(result))
    chart = charts["adoption_by_province"]
    assert chart["kind"] == "line" and chart["unit"] == "share"
    assert chart["categories"] == [str(s) for s in range(16)]
    assert len(chart["series"]) == 8 and "largest 8 of 17" in chart["title"]
    assert all(len(s["values"]) == 16 for s in chart["series"])
    assert [s["name"] for s in charts["adoption_overall"]["series"]] == ["adopted (ever)", "adopted this step"]
