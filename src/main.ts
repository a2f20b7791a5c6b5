/** `npm start`: the main job on embedded defaults (see README). */
console.log('deltasim: the end-to-end main job is not built yet (issue 5).');
