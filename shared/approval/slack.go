package approval

import (
	"context"
	"fmt"
	"slices"

	"github.com/slack-go/slack"
)

// SlackClient answers the controller's questions with slack-go: user groups
// (usergroups:read), profiles (users:read, users:read.email) and opening
// the accept-risk modal.
type SlackClient struct{ C *slack.Client }

// UserGroups lists the ids of the user groups slackUser belongs to.
func (s SlackClient) UserGroups(ctx context.Context, slackUser string) ([]string, error) {
	groups, err := s.C.GetUserGroupsContext(ctx, slack.GetUserGroupsOptionIncludeUsers(true))
	if err != nil {
		return nil, fmt.Errorf("slack usergroups.list: %w", err)
	}
	var out []string
	for _, g := range groups {
		if slices.Contains(g.Users, slackUser) {
			out = append(out, g.ID)
		}
	}
	return out, nil
}

// Profile returns the user's name and email.
func (s SlackClient) Profile(ctx context.Context, userID string) (string, string, error) {
	u, err := s.C.GetUserInfoContext(ctx, userID)
	if err != nil {
		return "", "", fmt.Errorf("slack users.info: %w", err)
	}
	name := u.Profile.DisplayName
	if name == "" {
		name = u.RealName
	}
	if name == "" {
		name = u.Name
	}
	return name, u.Profile.Email, nil
}

// OpenView opens a modal.
func (s SlackClient) OpenView(ctx context.Context, triggerID string, view slack.ModalViewRequest) error {
	if _, err := s.C.OpenViewContext(ctx, triggerID, view); err != nil {
		return fmt.Errorf("slack views.open: %w", err)
	}
	return nil
}
