from pipeline_sre.surfaces.cli.entry import main

main()
