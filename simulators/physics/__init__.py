"""Physics shared by several simulators (the EMC's cure, used by the press and the oven)."""
