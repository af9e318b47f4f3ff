from omniretail.cli.main import main

main()
