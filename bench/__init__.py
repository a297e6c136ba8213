"""The benchmark, kept outside the product package: `python -m bench.run` (make bench)
times every metric and each page's bundle (read from `steward.pages`); `bench.gen` is its
fallback data generator; `import_throughput.py` times imports."""
