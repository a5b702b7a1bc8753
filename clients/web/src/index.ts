export { type TodoApi, todoApi } from "./api";
export { addTodo, completeTodo, deleteTodo, firstPage, openTodo } from "./todos";
