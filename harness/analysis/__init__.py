"""Reading results: reports with statistics, leaderboard scoring, correlation helpers and the alignment study's measurements."""
