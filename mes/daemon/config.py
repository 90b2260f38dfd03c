"""The line config (`deploy/line.toml`): which tools this daemon owns and how to reach them."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from drivers.plater.nodes import MAX_CELLS
from mes.domain.errors import InvalidInput


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class LineSection(_Strict):
    name: Annotated[str, Field(min_length=1)]
    database_url: str | None = None


class DaemonSection(_Strict):
    id: Annotated[str, Field(min_length=1, max_length=64)] = "daemon-1"
    actor: str = "equipment"
    poll_interval_s: Annotated[float, Field(gt=0, le=60)] = 0.5
    idle_poll_interval_s: Annotated[float, Field(gt=0, le=60)] = 1.0
    claim_interval_s: Annotated[float, Field(gt=0, le=60)] = 0.5
    lease_ttl_s: Annotated[float, Field(ge=2, le=600)] = 15.0
    sample_batch: Annotated[int, Field(ge=1, le=100_000)] = 500
    flush_interval_s: Annotated[float, Field(gt=0, le=60)] = 1.0

    @model_validator(mode="after")
    def _lease_outlives_heartbeats(self) -> DaemonSection:
        # The lease is renewed once per claim interval and trusted for 80 % of its TTL
        # (mes.daemon.runner): a few renewals must fit, or runs stall for nothing.
        if self.lease_ttl_s < 4 * self.claim_interval_s:
            raise ValueError(
                f"lease_ttl_s ({self.lease_ttl_s:g}) must be at least 4 × claim_interval_s "
                f"({self.claim_interval_s:g}), the heartbeat period"
            )
        return self


class OpcUaSecurity(_Strict):
    """OPC UA security: Basic256Sha256 Sign&Encrypt with a user unless `mode = "none"`.

    Secrets never live here: the password comes from an environment variable.
    """

    mode: Literal["sign_encrypt", "none"] = "sign_encrypt"
    server_cert: Path | None = None  # the tool's certificate, pinned
    client_cert_dir: Path = Path("var/pki/client")
    username: str | None = None
    password_env: str | None = None

    @model_validator(mode="after")
    def _secure_needs_trust_and_user(self) -> OpcUaSecurity:
        if self.mode == "sign_encrypt":
            missing = [
                k for k in ("server_cert", "username", "password_env") if getattr(self, k) is None
            ]
            if missing:
                raise ValueError(
                    f'security: {", ".join(missing)} required with mode = "sign_encrypt" '
                    '(or set mode = "none" to opt out explicitly)'
                )
        return self


class ToolSection(_Strict):
    id: Annotated[str, Field(min_length=1, max_length=32, pattern=r"^[A-Za-z0-9_.-]+$")]
    type: Literal["cure_oven", "molding_press", "plating_tool"]
    protocol: Literal["modbus", "opcua"]
    host: str
    port: Annotated[int, Field(ge=1, le=65535)]
    unit: Annotated[int, Field(ge=0, le=247)] = 1
    timeout_s: Annotated[float, Field(gt=0, le=60)] = 1.0
    security: OpcUaSecurity | None = None
    bath_limit_ah: Annotated[float, Field(gt=0, le=1_000_000)] | None = None  # plating tools
    cells: Annotated[int, Field(ge=1, le=MAX_CELLS)] | None = None  # plating tools (default 2)

    @model_validator(mode="after")
    def _protocol_fits_type(self) -> ToolSection:
        expected = {"cure_oven": "modbus", "molding_press": "opcua", "plating_tool": "opcua"}[
            self.type
        ]
        if self.protocol != expected:
            raise ValueError(f"protocol: a {self.type} speaks {expected}, not {self.protocol}")
        if self.type != "plating_tool":
            for name in ("cells", "bath_limit_ah"):
                if getattr(self, name) is not None:
                    raise ValueError(f"{name}: only a plating_tool has it, not a {self.type}")
        if self.protocol == "opcua" and self.security is None:
            raise ValueError("security: required for an OPC UA tool ([tools.security])")
        return self


class LineConfig(_Strict):
    line: LineSection
    daemon: DaemonSection = DaemonSection()
    tools: Annotated[list[ToolSection], Field(min_length=1)]

    @model_validator(mode="after")
    def _unique_tools(self) -> LineConfig:
        seen: set[str] = set()
        for i, t in enumerate(self.tools):
            if t.id in seen:
                raise ValueError(f"tools[{i}].id {t.id!r} is repeated")
            seen.add(t.id)
        return self


def load_config(path: Path) -> LineConfig:
    """Read and validate; errors name the file, the field and the limit."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise InvalidInput(f"{path}: cannot read ({exc.strerror})") from None
    except tomllib.TOMLDecodeError as exc:
        raise InvalidInput(f"{path}: not valid TOML: {exc}") from None
    try:
        return LineConfig.model_validate(data)
    except ValidationError as exc:
        lines = []
        for err in exc.errors():
            loc = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in err["loc"]).lstrip(
                "."
            )
            msg = err["msg"].removeprefix("Value error, ")
            if err["type"] == "extra_forbidden":
                msg = "unknown key"
            elif err["type"] == "missing":
                msg = "missing"
            where = f"{loc}: " if loc else ""
            lines.append(f"{path}: {where}{msg}")
        raise InvalidInput("\n".join(lines)) from None
