"""Simulated cure oven: physics (model), program controller, faults, Modbus TCP server, CLI.

Serves the register map in drivers/cure_oven/registers.py, documented for any
client in docs/tools/cure-oven.md.
"""
