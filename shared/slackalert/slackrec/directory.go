package slackrec

import (
	"net/http"
	"slices"
	"sync"
)

// The workspace directory the recorder answers users.info and
// usergroups.list from: the people and user groups a test sets up, so that
// approvers, user groups and self-approval checks run against the real
// slack-go calls.

// Directory API methods the recorder answers (read-only; not recorded as
// calls).
const (
	MethodUsersInfo      = "users.info"
	MethodUserGroupsList = "usergroups.list"
)

type directory struct {
	mu     sync.Mutex
	users  map[string]dirUser
	groups map[string]dirGroup
}

type dirUser struct{ name, email string }

type dirGroup struct {
	handle  string
	members []string
}

// SetUser adds (or replaces) a workspace member.
func (r *Recorder) SetUser(id, name, email string) {
	r.dir.mu.Lock()
	defer r.dir.mu.Unlock()
	r.dir.users[id] = dirUser{name: name, email: email}
}

// SetUserGroup adds (or replaces) a user group with its members.
func (r *Recorder) SetUserGroup(id, handle string, members ...string) {
	r.dir.mu.Lock()
	defer r.dir.mu.Unlock()
	r.dir.groups[id] = dirGroup{handle: handle, members: slices.Clone(members)}
}

func (r *Recorder) usersInfo(w http.ResponseWriter, req *http.Request) {
	if err := req.ParseForm(); err != nil {
		writeJSON(w, http.StatusOK, map[string]any{"ok": false, "error": "invalid_form_data"})
		return
	}
	id := req.Form.Get("user")
	r.dir.mu.Lock()
	u, ok := r.dir.users[id]
	r.dir.mu.Unlock()
	if !ok {
		writeJSON(w, http.StatusOK, map[string]any{"ok": false, "error": "user_not_found"})
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"ok": true, "user": map[string]any{
		"id": id, "name": u.name, "real_name": u.name,
		"profile": map[string]any{"real_name": u.name, "display_name": u.name, "email": u.email},
	}})
}

func (r *Recorder) userGroupsList(w http.ResponseWriter, req *http.Request) {
	if err := req.ParseForm(); err != nil {
		writeJSON(w, http.StatusOK, map[string]any{"ok": false, "error": "invalid_form_data"})
		return
	}
	withUsers := req.Form.Get("include_users") == "true"
	r.dir.mu.Lock()
	var groups []map[string]any
	ids := make([]string, 0, len(r.dir.groups))
	for id := range r.dir.groups {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	for _, id := range ids {
		g := r.dir.groups[id]
		m := map[string]any{"id": id, "handle": g.handle, "name": g.handle, "user_count": len(g.members)}
		if withUsers {
			m["users"] = slices.Clone(g.members)
		}
		groups = append(groups, m)
	}
	r.dir.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]any{"ok": true, "usergroups": groups})
}
