"""Simulated Cu plating tool (RDL): rectifiers, Faraday physics, bath, faults, OPC UA server, CLI.

Serves the node model in drivers/plater/nodes.py, documented for any client
in docs/tools/plating-tool.md.
"""
