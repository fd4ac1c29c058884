"""What a report is made of: indicator values with their measurement, place and period.

Plain data, so the JSON and CSV exports, the charts and the printable report all read the same rows.
The fields follow the storage shape in the domain note (§2.3): code, place, period, numerator,
denominator, value, source, as-of date and note.
"""

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from enum import StrEnum


class Source(StrEnum):
    """How a value was measured; every value carries one, because cash is invisible in bank data.

    recorded: counted from sales vendors recorded in OCOP Market (cash sales are self-reported).
    simulated: counted from sales the simulator played through the service code.
    reported: a figure entered by an official from an outside source, with its date and source.
    """

    RECORDED = "recorded"
    SIMULATED = "simulated"
    REPORTED = "reported"


class Unit(StrEnum):
    """What a value counts: a percentage (0-100), a plain count, dong, or a count per point."""

    PERCENT = "percent"
    COUNT = "count"
    VND = "vnd"
    RATIO = "ratio"


class Grain(StrEnum):
    """The length of one reporting period."""

    DAY = "day"
    WEEK = "week"
    MONTH = "month"
    QUARTER = "quarter"
    YEAR = "year"


@dataclass(frozen=True)
class Place:
    """Where a report looks: the country, a province, a commune, a market or a vendor."""

    level: str  # "country", "province", "commune", "market", "vendor"
    code: str  # "VN", a GSO province or commune code, or a market or vendor id
    name: str


@dataclass(frozen=True)
class Period:
    """One reporting period in Vietnam's local calendar; `label` is how people write it."""

    grain: Grain
    start: date  # first local day, inclusive
    end: date  # last local day, inclusive
    label: str  # "2026-03-14", "2026-W11", "2026-03", "2026-Q1", "2026"


@dataclass(frozen=True)
class Value:
    """One indicator's value for one place and period, with how it was measured.

    `value` is None when the denominator is zero or the indicator does not apply at this grain;
    `note` then says why. `dimensions` splits a value, e.g. {"method": "vietqr"} or
    {"stars": "4", "group": "1", "producer_type": "cooperative"}.
    """

    indicator: str
    place: Place
    period: Period
    value: Decimal | int | None
    unit: Unit
    source: Source
    numerator: int | None = None
    denominator: int | None = None
    dimensions: dict[str, str] = field(default_factory=dict)
    as_of: date | None = None
    note: str = ""


@dataclass(frozen=True)
class Indicator:
    """An indicator's stable code and the definition printed beside its values."""

    code: str
    title: str  # Vietnamese first, as officials read it
    title_en: str
    unit: Unit
    definition: str
    numerator: str = ""
    denominator: str = ""


@dataclass(frozen=True)
class Report:
    """Values of some indicators for one or two places over a run of periods."""

    places: tuple[Place, ...]
    periods: tuple[Period, ...]
    indicators: tuple[Indicator, ...]
    values: tuple[Value, ...]

    def series(self, indicator: str, place: Place, **dimensions: str) -> list[Value]:
        """Values of one indicator at one place, in period order, matching the given dimensions."""
        return [
            value
            for value in self.values
            if value.indicator == indicator
            and value.place == place
            and all(value.dimensions.get(k) == v for k, v in dimensions.items())
        ]
