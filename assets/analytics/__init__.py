"""Customer analytics (issue 11): churn risk (Cox), value score (CV weights), measures."""
