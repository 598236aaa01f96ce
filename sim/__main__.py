from sim.cli import main

main(prog_name="cancelsim")
