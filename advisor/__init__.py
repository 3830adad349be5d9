"""rightfit advisor: questionnaire + rule table -> ranked recommendation (no torch import)."""
