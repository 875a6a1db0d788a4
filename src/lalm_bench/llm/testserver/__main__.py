"""``python -m lalm_bench.llm.testserver``: the loopback server, served for a user's own dry run."""

from lalm_bench.llm.dryrun import main

raise SystemExit(main())
