from omniretail.commands.main import main

main()
