from rfcalc.cli import main

main()
