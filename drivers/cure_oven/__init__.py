"""Cure oven over Modbus TCP: the register map (wire contract) and the driver."""
