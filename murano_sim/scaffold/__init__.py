"""A developer's files around a solution: editor stubs (`murano-sim stubs`) and a new solution (`murano-sim init`)."""
