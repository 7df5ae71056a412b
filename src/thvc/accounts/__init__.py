"""Users, groups, roles, passwords, app passwords and login throttling."""
