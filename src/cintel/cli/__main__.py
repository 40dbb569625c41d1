from cintel.cli.main import main

main()
