from policy_gate.cli import main

main()
