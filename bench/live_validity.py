"""Validity of the live analysis under repeated looks (A/A below 5 %; a real gain mostly promotes).

.venv/bin/python bench/live_validity.py [--replicates 500] [--horizon 5000] [--every 50] [--seed 11]

Simulates ratings 1–5 (control mean 3.65, sd 1.11) served to a canary at 10 % and 50 %: identical
arms (A/A) and a canary better by 0.20. After every `--every` interactions the comparison is read
with the always-valid confidence sequence (tasks/live_stats.py) and, for contrast, with a
fixed-sample 95 % z interval; a replicate promotes at its first passing look and aborts at its
first failing one. Prints each rate, and the A/A rate against the 5 % limit.
"""

import argparse
import time

from tasks.live_simulation import simulate_looks

CONTROL = (0.05, 0.10, 0.25, 0.35, 0.25)
BETTER = (0.03, 0.07, 0.23, 0.36, 0.31)
LIMIT = 0.05


def main() -> None:
    """Run the four simulations and print their rates."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--replicates", type=int, default=500)
    parser.add_argument("--horizon", type=int, default=5000)
    parser.add_argument("--every", type=int, default=50)
    parser.add_argument("--min-per-arm", type=int, default=30)
    parser.add_argument("--seed", type=int, default=11)
    args = parser.parse_args()
    print(
        f"{args.replicates} replicates, a look every {args.every} interactions up to "
        f"{args.horizon}, min {args.min_per_arm} per arm, margin 0 (superiority), alpha 0.05"
    )
    print(
        f"{'arms':<14}{'canary':>7}  {'always-valid promote/abort':>27}"
        f"  {'fixed z promote/abort':>22}"
    )
    for label, canary in (("A/A", CONTROL), ("gain +0.20", BETTER)):
        for weight in (0.1, 0.5):
            started = time.perf_counter()
            result = simulate_looks(
                control=CONTROL,
                canary=canary,
                canary_weight=weight,
                replicates=args.replicates,
                horizon=args.horizon,
                look_every=args.every,
                min_per_arm=args.min_per_arm,
                seed=args.seed,
            )
            seq, fixed = result.sequence, result.fixed
            seconds = time.perf_counter() - started
            line = (
                f"{label:<14}{weight:>7.0%}  {seq.promote:>13.1%} / {seq.abort:<11.1%}"
                f"  {fixed.promote:>9.1%} / {fixed.abort:<10.1%} {seconds:.1f} s"
            )
            if canary is CONTROL:
                wrong = seq.promote + seq.abort
                line += f"  A/A stops {wrong:.1%} = {wrong / LIMIT:.2f}× the 5 % limit"
            print(line)


if __name__ == "__main__":
    main()
