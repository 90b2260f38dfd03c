"""Route files: RDL blocks repeated per layer, Q-time clocks, clear errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from mes.domain.errors import InvalidInput
from mes.domain.routes import parse_route
from mes.services.routes import read_route_file

REPO = Path(__file__).resolve().parents[3]


class TestRouteFiles:
    def test_info_wmcm_route_expands_two_rdl_layers(self) -> None:
        """The shipped InFO/WMCM route repeats the RDL block for 2 layers, in order."""
        route = read_route_file(REPO / "deploy" / "routes" / "info-wmcm.toml")
        names = [s.name for s in route.steps]
        assert names.index("RDL1.PLATE") < names.index("RDL2.PI_COAT") < names.index("RDL2.PLATE")
        assert names[-1] == "SINGULATE"
        seed = route.step(route.index_of("RDL2.SEED"))
        assert (seed.qtime_to, seed.qtime_h) == ("RDL2.PLATE", 8.0)
        plate = route.step(route.index_of("RDL1.PLATE"))
        assert (plate.tool_type, plate.recipe) == ("plating_tool", "rdl-cu-5um")

    @pytest.mark.parametrize(
        ("raw", "message"),
        [
            ([{"block": "RDL", "repeat": 0, "steps": [{"name": "A"}]}], "repeat = 0"),
            ([{"block": "RDL", "repeat": 2, "steps": []}], "non-empty array"),
            ([{"name": "A", "qtime_to": "B"}], "qtime_to and qtime_h go together"),
            ([{"name": "A", "qtime_to": "Z", "qtime_h": 2}, {"name": "B"}], "not a later step"),
            ([{"name": "A", "qtime_to": "B", "qtime_h": -1}, {"name": "B"}], "qtime_h = -1"),
            ([{"name": "A"}, {"name": "A"}], "repeated"),
            ([{"name": "A", "tool_type": "cure_oven"}], "tool_type and recipe go together"),
            ([{"name": "A", "colour": "red"}], "unknown key 'colour'"),
        ],
    )
    def test_bad_routes_are_refused_with_the_field(
        self, raw: list[dict[str, object]], message: str
    ) -> None:
        """Each malformed route names the step and the rule it breaks."""
        with pytest.raises(InvalidInput, match=message):
            parse_route("r", raw)

    def test_bad_toml_names_the_file(self, tmp_path: Path) -> None:
        """A route file that is not TOML is refused with its name."""
        bad = tmp_path / "route.toml"
        bad.write_text("name = \n")
        with pytest.raises(InvalidInput, match=r"route\.toml: not valid TOML"):
            read_route_file(bad)
