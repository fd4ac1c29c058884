"""Time VietQR encoding and decoding: median µs per operation over many timeit runs."""

import statistics
import sys
import timeit

from payments.vietqr import VietQR, decode, encode

RUNS = 25
NUMBER = 20_000
TARGETS_US = {"encode": 10.0, "decode": 25.0}

# A typical per-order code: dynamic, with an order reference, a purpose and the merchant.
ORDER = VietQR(
    bin="970436",
    account="0011001234567",
    amount=125_000,
    bill_number="OCOP7K2Q9D",
    purpose="OCOP7K2Q9D Sap 12",
    merchant_name="SAP CO HONG",
    merchant_city="HA NOI",
)


def median_us(function) -> float:
    """Return the median over RUNS of the mean µs per call of NUMBER calls."""
    runs = timeit.repeat(function, number=NUMBER, repeat=RUNS)
    return statistics.median(runs) / NUMBER * 1e6


def main() -> int:
    payload = encode(ORDER)
    print(f"payload: {len(payload)} characters: {payload}")
    results = {
        "encode": median_us(lambda: encode(ORDER)),
        "decode": median_us(lambda: decode(payload)),
    }
    over = False
    for name, micros in results.items():
        target = TARGETS_US[name]
        verdict = "ok" if micros <= target else "OVER TARGET"
        over |= micros > target
        print(f"{name}: {micros:6.2f} µs/op  (target ≤ {target:g} µs) {verdict}")
    print(f"median of {RUNS} runs of {NUMBER} calls each")
    return 1 if over else 0


if __name__ == "__main__":
    sys.exit(main())
