from rfcalc.script import main

main()
