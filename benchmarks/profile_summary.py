"""Summarise a py-spy profile (``--format raw``: collapsed stacks) of a sync: where the GIL time goes.

    .venv/bin/python benchmarks/sync_throughput.py --customers 2000 --rate-limit 0 --latency-ms 0 \\
        --skip-incremental --profile /tmp/sync.txt
    .venv/bin/python benchmarks/profile_summary.py /tmp/sync.txt

Prints the share of samples (inclusive) of the costs the issue names — parsing
responses, canonical JSON, the SDK's debug formatting, SQLite writes, preparing
rows — and the functions with the most samples of their own.
"""

from __future__ import annotations

import argparse
import re
from collections import Counter

# (label, a pattern any frame of the stack matches)
COSTS = [
    ("parse JSON (json.loads / jsontext.loads)", r"^(loads|decode|raw_decode) \((json/|.*jsontext\.py)"),
    ("canonical JSON (json.dumps / orjson)", r"^(canonical_json|dumps|encode|iterencode) \((json/|.*jsontext\.py|.*store\.py)"),
    ("stripe SDK log formatting (logfmt)", r"^(logfmt|log_debug|log_info) \(.*stripe/_util\.py"),
    ("HTTP: requests/urllib3/stripe client", r"\((requests|urllib3|http/client|stripe)/"),
    ("value checks (object_problem)", r"^object_problem \("),
    ("rows for the store (to_row, prepare_page)", r"^(to_row|prepare_page) \("),
    ("SQLite writes (upsert_rows, replace_children, write_prepared)", r"^(upsert_rows|replace_children|write_prepared) \("),
    ("rate limiter (acquire)", r"^acquire \(.*limiter\.py"),
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("profile")
    parser.add_argument("--top", type=int, default=15)
    args = parser.parse_args()
    total = 0
    inclusive: Counter = Counter()
    own: Counter = Counter()
    patterns = [(label, re.compile(pattern)) for label, pattern in COSTS]
    with open(args.profile, encoding="utf-8") as handle:
        for line in handle:
            stack, _, count = line.rstrip("\n").rpartition(" ")
            if not count.isdigit():
                continue
            samples = int(count)
            frames = stack.split(";")[1:]   # the first is the thread
            total += samples
            for label, pattern in patterns:
                if any(pattern.search(frame) for frame in frames):
                    inclusive[label] += samples
            if frames:
                own[re.sub(r":\d+\)$", ")", frames[-1])] += samples
    print(f"{total:,} samples (GIL held)")
    for label, _ in COSTS:
        print(f"  {100 * inclusive[label] / max(1, total):5.1f} %  {label}")
    print("most samples of their own:")
    for frame, samples in own.most_common(args.top):
        print(f"  {100 * samples / max(1, total):5.1f} %  {frame}")


if __name__ == "__main__":
    main()
