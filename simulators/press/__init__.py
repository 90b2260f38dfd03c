"""Simulated molding press (MUF): physics, cycle sequencer, faults, OPC UA server, CLI.

Serves the node model in drivers/molding_press/nodes.py, documented for any
client in docs/tools/molding-press.md.
"""
