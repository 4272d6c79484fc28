// Every test process runs in test mode; global-setup has pointed DATABASE_URL at the run's database.
process.env.NODE_ENV = 'test';
