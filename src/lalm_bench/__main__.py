from lalm_bench.cli import main

main()
