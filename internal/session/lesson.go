package session

// StartLesson records that the learner started (or restarted) the lesson
// named id: its check looks at the events from this one on. An empty id
// stops the current lesson.
func (s *Session) StartLesson(req Req, id string) {
	action := "start"
	if id == "" {
		action = "stop"
	}
	s.log.Append(&Event{Type: TypeLesson, ID: req.ID, Origin: req.Origin, Lesson: &Lesson{ID: id, Action: action}})
}

// Answer records the learner's answer to step of lesson id.
func (s *Session) Answer(req Req, id string, step int, answer string) {
	s.log.Append(&Event{Type: TypeAnswer, ID: req.ID, Origin: req.Origin,
		Lesson: &Lesson{ID: id, Step: step, Answer: answer}})
}

// LessonProgress records what a lesson's check now sees.
func (s *Session) LessonProgress(p *Lesson) {
	s.log.Append(&Event{Type: TypeLesson, Lesson: p})
}
