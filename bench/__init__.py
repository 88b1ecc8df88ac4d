"""Side-by-side benchmarks: each module compares contenders in one run and prints medians and ratios."""
