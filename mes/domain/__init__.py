"""Pure rules of the line: lots, routes, holds, equipment states, roles. No I/O."""
