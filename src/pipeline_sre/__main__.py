from pipeline_sre.surfaces.cli import main

main()
