"""Times the SQL pushdown on DuckDB for `docs/scale.md`: the generated SQL of
`synthgmm.fit_sql`, each pass one query DuckDB runs over the Parquet files that
`examples/out_of_core.rs` writes (a view over them: every pass reads the files).

    python docs/scripts/duckdb_scale.py DIR [--model ols|logistic|poisson] [--threads 2]
                                            [--clusters G]

Prints the time to open (the labeled rows and the row count), to fit (default
settings), the number of queries, the estimate and standard error of the first slope,
and the process's peak memory. Logistic and Poisson regression read the binary
outcomes (`y01`, `proxy01`, `synth01`). With `--clusters G` the rows fall in G
clusters (a hash of `x1` modulo G, a column of the view) and the fit is clustered.
"""

import argparse
import resource
import time

import duckdb

import synthgmm


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("dir")
    parser.add_argument("--model", default="ols", choices=["ols", "logistic", "poisson"])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--clusters", type=int, default=0)
    args = parser.parse_args()
    suffix = "" if args.model == "ols" else "01"
    con = duckdb.connect()
    con.execute(f"SET threads = {args.threads}")
    files = f"{args.dir.rstrip('/')}/*.parquet".replace("'", "''")
    cluster = f", hash(x1) % {args.clusters} AS cluster" if args.clusters > 0 else ""
    con.execute(f"CREATE VIEW runs AS SELECT *{cluster} FROM read_parquet('{files}')")
    x = [f"x{j}" for j in range(10)]
    sx = [f"sx{j}" for j in range(10)]
    queries = []

    def run(query):
        queries.append(time.perf_counter())
        return con.execute(query).fetchall()

    start = time.perf_counter()
    fit = synthgmm.fit_sql(run, "runs", labeled="S", y=f"y{suffix}", x=x,
                           sources={"proxy": (f"proxy{suffix}", x), "synth": (f"synth{suffix}", sx)},
                           model=args.model,
                           clusters="cluster" if args.clusters > 0 else None)
    total = time.perf_counter() - start
    # Opening runs two queries (the labeled rows, the row count), three with clusters.
    opening = 3 if args.clusters > 0 else 2
    opened = queries[opening] - start if len(queries) > opening else total
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"{args.model}: T = {fit.nobs}, n = {fit.n_labeled}: opened in {opened:.2f} s, "
          f"fitted in {total - opened:.2f} s, {len(queries)} queries "
          f"({len(queries) - opening} passes); theta_1 = {fit.params[1]:.6f}, "
          f"se = {fit.bse[1]:.6f}; peak memory {peak:.0f} MB")


if __name__ == "__main__":
    main()
