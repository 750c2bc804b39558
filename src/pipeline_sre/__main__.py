from pipeline_sre.surfaces.cli.app import main

main()
