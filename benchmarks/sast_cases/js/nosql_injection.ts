// Held-out SAST benchmark cases: NoSQL injection (CWE-943). Scan input only.
import express, { Request, Response } from 'express';
import Hapi from '@hapi/hapi';
import mongoose from 'mongoose';
import mongoSanitize from 'mongo-sanitize';

const app = express();
const server = Hapi.server({ port: 3000 });
const User = mongoose.model('User', new mongoose.Schema({ username: String, password: String }));

app.post('/login', async (req: Request, res: Response) => {
  const user = await User.findOne({ username: req.body.username, password: req.body.password }); // case: nosql-injection vulnerable
  res.json({ ok: !!user });
});

app.get('/search', async (req: Request, res: Response) => {
  const name = req.query.name;
  const users = await User.find({ $where: `this.username == '${name}'` }); // case: nosql-injection vulnerable
  res.json(users);
});

server.route({
  method: 'POST',
  path: '/filter',
  handler: async (request: Hapi.Request) => {
    const filter = request.payload as Record<string, unknown>;
    return User.find(filter); // case: nosql-injection vulnerable
  }
});

app.get('/by-name', async (req: Request, res: Response) => {
  const users = await User.find(req.query); // case: nosql-injection vulnerable
  res.json(users);
});

app.post('/delete', async (req: Request, res: Response) => {
  const { id } = req.body;
  await User.deleteMany({ _id: id }); // case: nosql-injection vulnerable
  res.end();
});

app.post('/login2', async (req: Request, res: Response) => {
  const user = await User.findOne({ username: String(req.body.username) }); // case: nosql-injection safe
  res.json({ ok: !!user });
});

app.get('/search2', async (req: Request, res: Response) => {
  const users = await User.find({ $where: 'this.active == true' }); // case: nosql-injection safe
  res.json(users);
});

server.route({
  method: 'POST',
  path: '/filter2',
  handler: async (request: Hapi.Request) => {
    const clean = mongoSanitize(request.payload);
    return User.find(clean); // case: nosql-injection safe
  }
});

app.get('/by-name2', async (req: Request, res: Response) => {
  const users = await User.find({ username: { $eq: req.query.name } }); // case: nosql-injection safe
  res.json(users);
});

app.post('/delete2', async (req: Request, res: Response) => {
  await User.deleteMany({ _id: new mongoose.Types.ObjectId(String(req.body.id)) }); // case: nosql-injection safe
  res.end();
});
