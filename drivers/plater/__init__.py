"""Cu plating tool over OPC UA: the node model (wire contract) and the driver."""
