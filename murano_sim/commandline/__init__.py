"""What every murano-sim command shares (conventions.py: -v/-q, --json, shell completion)."""
