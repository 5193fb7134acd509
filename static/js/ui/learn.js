// The learning column: concepts, guided lessons and error cards. (Being
// built: see issue 6.)

export class Learn {
  constructor(root, deps) {
    this.root = root;
    this.deps = deps;
  }
  apply(_entry) {}
  render() {}
  newSession(_hello) {}
}
