"""Status polls and XML downloads against the baseline INSERT, on the same deployed stack.

Starts `faktura serve --workers N` as `bench/issue.py` does, issues `--invoices` 10-line
invoices through the API, then alternates, for `--seconds` each at `--concurrency` open
connections (wrk, each request the next invoice of the list):

  1. baseline: `POST /bench/baseline` (a bare INSERT of the request JSON);
  2. status poll: `GET /v1/invoices/{id}` (authenticate, read the row, render the model);
  3. status poll: `GET /v1/invoices/{id}/status` (the poll endpoint: statuses and `ETag`);
  4. XML download: `GET /v1/invoices/{id}/xml` (authenticate, read the stored bytes).

Prints each side's requests/s, p50/p99 latency, the server's CPU per request and the
median ratio to the baseline over the rounds, with the load average.

    .venv/bin/python bench/reads.py [--seconds 15] [--rounds 3] [--invoices 200]
"""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from issue import Request, alternate, load_average, load_generator, parser, stack


async def main() -> None:
    ap = parser(__doc__ or "")
    ap.add_argument("--invoices", type=int, default=200, help="issued invoices the reads cycle through")
    args = ap.parse_args()
    wrk = load_generator(args)
    async with stack(args.workers, job_worker=args.with_job_worker, pool=args.pool) as s:
        headers, invoice = await s.tenant(0)
        ids = []
        for _ in range(args.invoices):
            status, payload = await s.call("POST", "/v1/invoices?issue=true", invoice, headers)
            assert status == 201, payload
            ids.append(json.loads(payload)["model"]["id"])
        print(
            f"# bench/reads.py: {args.workers} server workers ({args.pool} connections each),"
            f" concurrency {args.concurrency},"
            f" {args.rounds} rounds of {args.seconds:.0f} s per side, {len(ids)} issued invoices,"
            f" client {args.client}, loopback; load average before: {load_average()}"
        )
        await alternate(
            s,
            {
                "baseline INSERT": [Request("POST", "/bench/baseline", headers, invoice)],
                "status poll GET /v1/invoices/{id}": [
                    Request("GET", f"/v1/invoices/{i}", headers) for i in ids
                ],
                "status poll GET /v1/invoices/{id}/status": [
                    Request("GET", f"/v1/invoices/{i}/status", headers) for i in ids
                ],
                "XML download": [Request("GET", f"/v1/invoices/{i}/xml", headers) for i in ids],
            },
            args,
            wrk,
        )


if __name__ == "__main__":
    asyncio.run(main())
