const express = require('express');
const app = express();
app.get('/hello/:name', (req, res) => res.send('hello ' + req.params.name));
app.listen(Number(process.env.PORT), '127.0.0.1', () => console.log('listening'));
