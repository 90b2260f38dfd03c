"""Molding press over OPC UA: the node model (wire contract) and the driver."""
